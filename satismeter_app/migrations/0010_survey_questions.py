# A survey becomes a list of questions. Every survey saved before asked its rating and then
# the follow-up comment: it gets exactly those two, its rating's metric being its type, so
# that nothing its users or its API clients see changes.

from django.db import migrations, models

import satismeter_app.questions


def built_in_questions(apps, schema_editor):
    Survey = apps.get_model("satismeter_app", "Survey")
    for survey in Survey.objects.only("pk", "type").iterator():
        survey.questions = satismeter_app.questions.default_questions(survey.type)
        survey.save(update_fields=["questions"])


class Migration(migrations.Migration):
    dependencies = [
        ("satismeter_app", "0009_outbox_drops_covered_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="questions",
            field=models.JSONField(
                blank=True,
                default=satismeter_app.questions.default_questions,
                help_text=(
                    "The questions in order (satismeter_app.questions): the rating, the "
                    "comment, others."
                ),
                verbose_name="questions",
            ),
        ),
        migrations.RunPython(built_in_questions, migrations.RunPython.noop),
    ]
