"""Routes of the task API, included under /api/ by `config.urls`; each works with or without a
trailing slash."""

from django.urls import re_path

from tasks.api import budgets, views

TASK = r"^tasks/(?P<task_id>[^/]+)"

urlpatterns = [
    re_path(r"^models/?$", views.ModelListApi.as_view(), name="model_list"),
    re_path(r"^tasks/?$", views.TaskCollectionApi.as_view(), name="task_list"),
    re_path(rf"{TASK}/?$", views.TaskDetailApi.as_view(), name="task_detail"),
    re_path(rf"{TASK}/cancel/?$", views.TaskCancelApi.as_view(), name="task_cancel"),
    re_path(rf"{TASK}/retry/?$", views.TaskRetryApi.as_view(), name="task_retry"),
    re_path(rf"{TASK}/events/?$", views.TaskEventListApi.as_view(), name="task_events"),
    re_path(rf"{TASK}/timeline/?$", views.TaskTimelineApi.as_view(), name="task_timeline"),
    # Ids of at most 18 digits: a longer one is no user's, and the API's catch-all answers 404.
    re_path(r"^budgets/(?P<user_id>[0-9]{1,18})/?$", budgets.UserBudgetApi.as_view(), name="user_budget"),
]
