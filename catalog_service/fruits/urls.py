from django.urls import path

from . import views

app_name = "fruits"
urlpatterns = [
    path("", views.index, name="index"),
    path("fruits/", views.FruitList.as_view(), name="fruit-list"),
    path("upload/", views.ImageUpload.as_view(), name="upload"),
]
