"""What each licence category allows one to drive (Law "On road traffic", Art. 73), as the citizen is told."""

from django.utils.translation import gettext_lazy as _

ALLOWS = {
    "A1": _("light motorcycles, up to 125 cm³"),
    "A": _("motorcycles"),
    "B1": _("tricycles and quadricycles"),
    "B": _("cars up to 3,500 kg with up to 8 passenger seats"),
    "C1": _("lorries from 3,500 to 7,500 kg"),
    "C": _("lorries over 3,500 kg"),
    "D1": _("minibuses with 9 to 16 passenger seats"),
    "D": _("buses with more than 8 passenger seats"),
    "BE": _("a category B car with a trailer over 750 kg"),
    "C1E": _("a category C1 lorry with a trailer over 750 kg"),
    "CE": _("a category C lorry with a trailer over 750 kg"),
    "D1E": _("a category D1 minibus with a trailer over 750 kg"),
    "DE": _("a category D bus with a trailer over 750 kg"),
    "Tb": _("trolleybuses"),
    "Tm": _("trams"),
}


def category_label(code: str) -> str:
    """The code and what it allows, in the active language; a category added in the admin shows its bare code."""
    allows = ALLOWS.get(code)
    return f"{code}: {allows}" if allows else code


def category_labels(codes) -> list[str]:
    return [category_label(code) for code in codes]
