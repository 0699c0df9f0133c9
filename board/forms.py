"""Input validation for the board; every error at once."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category


class PostForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(parent__isnull=False).select_related("parent"),
        empty_label=None,
    )
    title = forms.CharField(label=_("Title"), min_length=1, max_length=255)
    content = forms.CharField(
        label=_("Content"),
        min_length=1,
        max_length=5000,
        widget=forms.Textarea,
        help_text=_("Markdown is allowed."),
    )


class CommentForm(forms.Form):
    content = forms.CharField(
        label=_("Comment"), min_length=1, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ModerationForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
