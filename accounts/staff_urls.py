from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.home, name="home"),
    path("signin/", staff_views.sign_in, name="sign-in"),
    path("signin/code/", staff_views.authenticator, name="authenticator"),
    path("signin/authenticator-app/", staff_views.enrol, name="enrol"),
    path("token/", staff_views.replace_token, name="token"),
    path("signout/", staff_views.sign_out, name="sign-out"),
]
