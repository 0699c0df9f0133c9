"""Input validation for the board; every error at once."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .markup import without_images
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

    def clean_content(self):
        """Images cannot be shown (see ``board.markup``): the text comes back with each one a
        link to it, for the author to see before publishing, with a word next to the field."""
        content = self.cleaned_data["content"]
        fixed, images = without_images(content)
        if images:
            self.data = self.data.copy()
            self.data[self.add_prefix("content")] = fixed
            raise forms.ValidationError(
                ngettext(
                    "Images are not supported; the image was removed and its address kept as "
                    "a link. Check the text and publish again.",
                    "Images are not supported; the %(n)s images were removed and their "
                    "addresses kept as links. Check the text and publish again.",
                    images,
                ),
                code="images",
                params={"n": images},
            )
        return content


class CommentForm(forms.Form):
    content = forms.CharField(
        label=_("Comment"), min_length=1, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ModerationForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
