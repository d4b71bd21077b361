"""Routes of the content API under /api/, each with or without a trailing slash."""

from django.urls import re_path

from content.api import review, views

TASK = r"^tasks/(?P<task_id>[^/]+)"

urlpatterns = [
    re_path(r"^tasks/estimate/?$", views.EstimateApi.as_view(), name="task_estimate"),
    re_path(rf"{TASK}/versions/?$", views.VersionListApi.as_view(), name="version_list"),
    re_path(rf"{TASK}/versions/(?P<number>[0-9]+)/?$", views.VersionDetailApi.as_view(), name="version_detail"),
    re_path(rf"{TASK}/versions/(?P<a>[0-9]+)/diff/(?P<b>[0-9]+)/?$", views.VersionDiffApi.as_view(),
            name="version_diff"),
    re_path(rf"{TASK}/versions/(?P<number>[0-9]+)/restore/?$", review.VersionRestoreApi.as_view(),
            name="version_restore"),
    re_path(rf"{TASK}/approvals/?$", views.ApprovalListApi.as_view(), name="task_approvals"),
    re_path(rf"{TASK}/approve/?$", review.ApprovalApi.as_view(), name="task_approve"),
    re_path(rf"{TASK}/revoke-approval/?$", review.RevokeApprovalApi.as_view(), name="task_revoke_approval"),
    re_path(rf"{TASK}/draft/?$", review.DraftEditApi.as_view(), name="task_draft"),
]
