"""Seed the refusal catalogue (policy: administrators keep it in the admin, in kk, ru and en)."""

from django.db import migrations

REASONS = [
    ("photo_unsuitable",
     "Фотосурет талаптарға сай емес", "Фотография не соответствует требованиям",
     "The photo does not meet the requirements"),
    ("identity_mismatch",
     "Өтініштегі дербес деректер жеке басын куәландыратын құжатқа сәйкес келмейді",
     "Персональные данные в заявлении не совпадают с документом, удостоверяющим личность",
     "The personal data in the application do not match the identity document"),
    ("medical_certificate_invalid",
     "073/у медициналық анықтамасы жарамсыз деп танылды",
     "Медицинская справка 073/у признана недействительной",
     "The medical certificate 073/у was found invalid"),
    ("exam_result_annulled",
     "Емтихан нәтижесінің күші жойылды (тәртіп бұзушылық анықталды)",
     "Результат экзамена аннулирован (выявлено нарушение)",
     "The exam result was annulled (a breach of the rules was found)"),
    ("driving_school_certificate_invalid",
     "Автомектеп куәлігі жарамсыз деп танылды",
     "Свидетельство автошколы признано недействительным",
     "The driving school certificate was found invalid"),
    ("court_decision",
     "Соттың шешімі бойынша жүргізу құқығынан айырылған",
     "Лишён права управления по решению суда",
     "Deprived of the right to drive by a court decision"),
    ("other_legal_grounds",
     "Заңда көзделген өзге негіздер (түсініктемені қараңыз)",
     "Иные основания, предусмотренные законом (см. комментарий)",
     "Other grounds set by law (see the comment)"),
]


def seed(apps, schema_editor):
    RefusalReason = apps.get_model("applications", "RefusalReason")
    for position, (code, kk, ru, en) in enumerate(REASONS):
        RefusalReason.objects.update_or_create(code=code, defaults={
            "title_kk": kk, "title_ru": ru, "title_en": en, "position": position, "is_active": True})


class Migration(migrations.Migration):
    dependencies = [("applications", "0009_formalization_review_notices")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
