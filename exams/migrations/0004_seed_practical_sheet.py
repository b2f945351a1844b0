"""Seed the practical exam sheet (policy, edited in the admin): faults and their penalty points. A fault worth more
than the limit (100 points) fails the exam on its own."""

from django.db import migrations

FAULTS = [
    # code, part, points, kk, ru, en
    ("autodrome-time", "autodrome", 35, "Жаттығу белгіленген уақытта орындалмады",
     "Упражнение не выполнено за отведённое время", "Exercise not completed in the set time"),
    ("autodrome-cone", "autodrome", 20, "Конусқа немесе шектеу тірегіне тиіп кетті",
     "Задет конус или ограничительная стойка", "Touched a cone or a boundary post"),
    ("autodrome-line", "autodrome", 35, "Шектеу сызығынан доңғалақпен өтіп кетті",
     "Пересечена колесом ограничительная линия", "A wheel crossed a boundary line"),
    ("autodrome-rollback", "autodrome", 35, "Көтерілуде көлік 0,3 м-ден артық кері сырғыды",
     "На подъёме откат более 0,3 м", "Rolled back more than 0.3 m on the slope"),
    ("autodrome-stall", "autodrome", 10, "Қозғалтқыш сөніп қалды",
     "Заглох двигатель", "Stalled the engine"),
    ("autodrome-stop-line", "autodrome", 20, "«Стоп» сызығына дейін тоқтамады немесе одан асып кетті",
     "Не остановился у линии «Стоп» или пересёк её", "Did not stop at, or crossed, the stop line"),
    ("city-signal", "city", 10, "Бұрылыс немесе қайта құрылу алдында белгі бермеді",
     "Не подал сигнал перед поворотом или перестроением", "No signal before a turn or a lane change"),
    ("city-seat-belt", "city", 35, "Қауіпсіздік белдігін тақпады",
     "Не пристегнул ремень безопасности", "Did not fasten the seat belt"),
    ("city-lane", "city", 20, "Жолақта дұрыс орналаспады",
     "Неправильное расположение на проезжей части", "Wrong position in the lane"),
    ("city-speed", "city", 35, "Жылдамдықты асырды",
     "Превысил скорость", "Exceeded the speed limit"),
    ("city-mirror", "city", 10, "Маневр алдында айналарға қарамады",
     "Не посмотрел в зеркала перед манёвром", "Did not check the mirrors before a manoeuvre"),
    ("city-give-way", "city", 101, "Басымдығы бар көлікке немесе жаяу жүргіншіге жол бермеді",
     "Не уступил дорогу транспорту или пешеходу, имеющему преимущество",
     "Did not give way to a vehicle or a pedestrian with priority"),
    ("city-red-light", "city", 101, "Бағдаршамның тыйым салатын белгісіне өтті",
     "Проехал на запрещающий сигнал светофора", "Drove through a red light"),
    ("city-intervention", "city", 101, "Емтихан алушы қауіпті жағдайда араласуға мәжбүр болды",
     "Экзаменатор был вынужден вмешаться в опасной ситуации",
     "The examiner had to intervene in a dangerous situation"),
]


def seed(apps, schema_editor):
    PracticalFault = apps.get_model("exams", "PracticalFault")
    for position, (code, part, points, kk, ru, en) in enumerate(FAULTS):
        PracticalFault.objects.update_or_create(code=code, defaults={
            "part": part, "points": points, "title_kk": kk, "title_ru": ru, "title_en": en, "position": position})


class Migration(migrations.Migration):
    dependencies = [("exams", "0003_slots_bookings_questions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
