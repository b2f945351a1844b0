"""Policy: data an administrator changes in the admin, never literals in code."""

import datetime
import threading
from decimal import ROUND_HALF_UP, Decimal

from cachetools import TTLCache, cached
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from solo.models import SingletonModel

# Every new application is checked against the categories and every Application shown carries the fee: each process
# remembers them for a minute. Edits in the admin are seen at once in the editing process (signals), elsewhere within
# a minute.
POLICY_CACHE_SECONDS = 60
_issued_categories: TTLCache = TTLCache(maxsize=1, ttl=POLICY_CACHE_SECONDS)
_fees: TTLCache = TTLCache(maxsize=4, ttl=POLICY_CACHE_SECONDS)


class Category(models.Model):
    """A licence category (Law "On road traffic", Art. 73) and its rules."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    minimum_age = models.PositiveSmallIntegerField(
        _("minimum age"), validators=[MinValueValidator(14), MaxValueValidator(99)]
    )
    prerequisite = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependants",
        verbose_name=_("prerequisite category"),
        help_text=_("A trailer (E) category needs its base category."),
    )
    is_issued = models.BooleanField(_("issued"), default=True, help_text=_("Whether new licences are issued."))
    position = models.PositiveSmallIntegerField(_("order on the card"), default=0)

    class Meta:
        verbose_name = _("licence category")
        verbose_name_plural = _("licence categories")
        ordering = ["position", "code"]

    def __str__(self):
        return self.code

    @classmethod
    @cached(_issued_categories, key=lambda cls: "issued", lock=threading.Lock())
    def issued_by_code(cls) -> dict[str, "Category"]:
        """The categories issued now, with their prerequisites (remembered per process, see POLICY_CACHE_SECONDS)."""
        return {category.code: category
                for category in cls.objects.select_related("prerequisite").filter(is_issued=True)}

    def clean(self):
        if self.prerequisite_id and self.prerequisite_id == self.pk:
            raise ValidationError({"prerequisite": _("A category cannot be its own prerequisite.")})


def forget_categories(**kwargs) -> None:
    _issued_categories.clear()


class MonthlyCalculationIndex(models.Model):
    """MRP, the monthly calculation index set each year by the budget law."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=[MinValueValidator(2000)])
    amount_kzt = models.PositiveIntegerField(_("amount, tenge"))

    class Meta:
        verbose_name = _("monthly calculation index (MRP)")
        verbose_name_plural = _("monthly calculation indices (MRP)")
        ordering = ["-year"]

    def __str__(self):
        return f"{self.year}: {self.amount_kzt} ₸"


def forget_fee(**kwargs) -> None:
    """Policy or MRP edited in the admin: this process recomputes the fee at once (others within a minute)."""
    _fees.clear()


class ServicePolicy(SingletonModel):
    """The service-wide settings: one row, edited in the admin (django-solo keeps it one)."""

    state_fee_mrp = models.DecimalField(
        _("state fee, in MRP"), max_digits=6, decimal_places=3, default=Decimal("1.25"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    licence_validity_years = models.PositiveSmallIntegerField(
        _("licence validity, years"), default=10, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    pilot_starts_on = models.DateField(_("pilot starts on"), default=datetime.date(2025, 10, 16))
    pilot_ends_on = models.DateField(
        _("pilot ends on"),
        default=datetime.date(2026, 9, 1),
        help_text=_("Shown to administrators. When it passes the online rules stay in force until changed here."),
    )
    licence_number_prefix = models.CharField(
        _("licence number: letters before the serial"), max_length=4, default="KZ",
        validators=[RegexValidator(r"^[A-Z]{0,4}$")])
    licence_number_digits = models.PositiveSmallIntegerField(
        _("licence number: digits of the serial"), default=8, validators=[MinValueValidator(6), MaxValueValidator(12)])
    issuing_authority = models.CharField(
        _("issuing authority on the card (4c)"), max_length=200,
        default="ҚР ІІМ ӘПК / MVD RK")
    online_first_issue = models.BooleanField(_("first licences are taken online only"), default=True)
    online_replacement = models.BooleanField(_("replacements are taken online only"), default=True)

    class Meta:
        verbose_name = _("service policy")
        verbose_name_plural = _("service policy")

    def __str__(self):
        return str(_("Service policy"))

    @classmethod
    def current(cls) -> "ServicePolicy":
        return cls.get_solo()

    def licence_number(self, serial: int) -> str:
        return f"{self.licence_number_prefix}{serial:0{self.licence_number_digits}d}"

    def pilot_window_passed(self, on: datetime.date | None = None) -> bool:
        return (on or timezone.localdate()) > self.pilot_ends_on

    @classmethod
    def current_fee_kzt(cls) -> int:
        """Today's fee (remembered per process, see POLICY_CACHE_SECONDS)."""
        return cls._fee_on(timezone.localdate())

    @classmethod
    @cached(_fees, key=lambda cls, day: day, lock=threading.Lock())
    def _fee_on(cls, day: datetime.date) -> int:
        return cls.current().state_fee_kzt(day)

    def state_fee_kzt(self, on: datetime.date | None = None) -> int:
        """The state fee in whole tenge: the coefficient times the MRP in force that year, rounded half up."""
        year = (on or timezone.localdate()).year
        mrp = MonthlyCalculationIndex.objects.filter(year__lte=year).order_by("-year").first()
        if mrp is None:
            raise MonthlyCalculationIndex.DoesNotExist(f"no MRP is set for {year} or any earlier year")
        amount = self.state_fee_mrp * mrp.amount_kzt
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class ForeignLicenceCountry(models.Model):
    """Whether a licence from this country is exchanged with a theory exam. Countries not listed need one."""

    country = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, unique=True,
                               validators=[RegexValidator(r"^[A-Z]{2}$")])
    theory_exam_required = models.BooleanField(_("theory exam required"), default=True)

    class Meta:
        verbose_name = _("foreign licence country")
        verbose_name_plural = _("foreign licence countries")
        ordering = ["country"]

    def __str__(self):
        return self.country

    @classmethod
    def theory_exam_required_for(cls, country: str) -> bool:
        rule = cls.objects.filter(country=country).values_list("theory_exam_required", flat=True).first()
        return True if rule is None else rule


class Centre(models.Model):
    """A public service centre (TSON) or exam centre."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    # The Kazakh name, city and address; Russian and English beside them, shown in the reader's language.
    name = models.CharField(_("name (Kazakh)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    city = models.CharField(_("city (Kazakh)"), max_length=100)
    city_ru = models.CharField(_("city (Russian)"), max_length=100, blank=True)
    city_en = models.CharField(_("city (English)"), max_length=100, blank=True)
    address = models.CharField(_("address (Kazakh)"), max_length=300, blank=True)
    address_ru = models.CharField(_("address (Russian)"), max_length=300, blank=True)
    address_en = models.CharField(_("address (English)"), max_length=300, blank=True)
    offers_tson = models.BooleanField(_("TSON desk (photo, fee, hand-over)"), default=True)
    offers_exams = models.BooleanField(_("exam centre"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["city", "name"]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def _in_language(self, field: str, language: str | None) -> str:
        """The field in `language` (the active one by default), the Kazakh text where that one is not filled in."""
        language = (language or get_language() or "kk")[:2]
        return (getattr(self, f"{field}_{language}", "") if language in ("ru", "en") else "") or getattr(self, field)

    def name_in(self, language: str | None = None) -> str:
        return self._in_language("name", language)

    def city_in(self, language: str | None = None) -> str:
        return self._in_language("city", language)

    def address_in(self, language: str | None = None) -> str:
        return self._in_language("address", language)

    @property
    def services(self) -> list[str]:
        return [name for name, offered in (("tson", self.offers_tson), ("exams", self.offers_exams)) if offered]

