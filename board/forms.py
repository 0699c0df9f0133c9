"""Input validation for the board; every error at once."""

from django import forms

from .models import Category


class PostForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(parent__isnull=False).select_related("parent"),
        empty_label=None,
    )
    title = forms.CharField(min_length=1, max_length=255)
    content = forms.CharField(
        min_length=1, max_length=5000, widget=forms.Textarea, help_text="Markdown is allowed."
    )


class CommentForm(forms.Form):
    content = forms.CharField(
        label="Comment", min_length=1, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ModerationForm(forms.Form):
    reason = forms.CharField(max_length=500)
