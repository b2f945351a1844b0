"""The Celery application: settings come from Django's (CELERY_*), tasks from every app's tasks.py."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("kualik")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Metrics of every task (config/metrics.py), the worker's own exporter, and the request id of in-process tasks.
from . import metrics, request_id  # noqa: E402, F401

task_prerun.connect(metrics.task_started)
task_postrun.connect(metrics.task_ended)
worker_init.connect(metrics.start_worker_exporter)
