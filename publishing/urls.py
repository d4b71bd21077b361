from django.urls import path

from publishing import views

app_name = "publishing"

urlpatterns = [
    path("", views.post_list, name="post_list"),
    path("posts/<slug:slug>/", views.post_detail, name="post_detail"),
]
