"""HTTP for the board: parse, check, call one service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from config import locks

from . import selectors, services
from .forms import CommentForm, ModerationForm, PostForm
from .models import Comment, ModerationAction, Post


def _writer(request):
    if not request.user.can_write:
        raise PermissionDenied(request.user.restriction or gettext("You cannot write."))


def _search(request, category, q: str, number: int):
    """A search's results as HTML, cached until the index changes (and at most
    ``BOARD_LIST_CACHE_SECONDS``, for the counts in its rows); the search itself, read lazily
    (a cache hit does not run it)."""
    key = selectors.search_key(category=category, q=q, page=number)  # SearchError: no words
    found = SimpleLazyObject(lambda: selectors.search(category=category, q=q, page=number))

    def render_results():
        context = {"search": found, "page": found.page, "q": q, "category": category}
        return render_to_string("board/_search_results.html", context, request)

    seconds = settings.BOARD_LIST_CACHE_SECONDS
    return locks.cached_once(key, render_results, seconds), found


def _list(request, category, version: int):
    """A post list, or a search of it. Without a search its rendered rows are a cached fragment
    (see the template): the page is read lazily, so a cache hit reads no post at all."""
    q = selectors.search_text(request.GET.get("q", ""))
    number = selectors.parse_page(request.GET.get("page"))
    search, results, search_error = None, None, None
    if not q:
        if number > 1:  # page 1 always exists; past the last is a 404, not page 1
            selectors.check_page(number, selectors.post_list_pages(category=category))
        page = SimpleLazyObject(lambda: selectors.post_list(category=category, page=number))
    else:
        try:
            results, search = _search(request, category, q, number)
            page = SimpleLazyObject(lambda: search.page)
        except selectors.SearchError as error:
            page = selectors.Page(items=[], number=1, size=selectors.PAGE_SIZE, total=0)
            search_error = str(error)
    return render(
        request,
        "board/index.html",
        {
            "page": page,
            "page_number": number,
            "category": category,
            "q": q,
            "search": search,
            "search_results": results,
            "search_error": search_error,
            "boards": selectors.boards,  # called by the template only when the menu is not cached
            "list_version": version,
            "list_seconds": settings.BOARD_LIST_CACHE_SECONDS,
        },
    )


def index(request):
    return _list(request, None, selectors.list_version())


def category(request, slug):
    version = selectors.list_version()  # one read of it for the category and the fragments
    found = selectors.category(slug, version)
    if found is None:
        raise Http404(gettext("No such category."))
    return _list(request, found, version)


def _active_post(pk):
    try:
        return Post.objects.select_related("author").get(pk=pk, is_active=True)
    except Post.DoesNotExist:
        raise Http404(gettext("No such post.")) from None


@login_required
def post_create(request):
    _writer(request)
    form = PostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            post = services.create_post(user=request.user, **form.cleaned_data)
        except services.RateLimited as error:
            form.add_error(None, str(error))
        else:
            return redirect("board:post", pk=post.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "board/post_form.html", {"form": form}, status=status)


@login_required
def post_edit(request, pk):
    post = _active_post(pk)
    _writer(request)
    if post.author_id != request.user.pk:
        raise PermissionDenied(gettext("Only the author may edit this post."))
    initial = {"title": post.title, "content": post.content, "category": post.category_id}
    form = PostForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.edit_post(user=request.user, post_id=post.pk, **form.cleaned_data)
        return redirect("board:post", pk=post.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "board/post_form.html", {"form": form, "post": post}, status=status)


def _deletion_reason(request, author_id: int, what: dict) -> tuple[str, HttpResponse | None]:
    """Deleting asks first: a GET, or a POST without ``confirm=yes`` (a form without JavaScript;
    with it the button asks and sends ``confirm``), is answered with the confirmation page.
    Deleting someone else's content is moderation: staff only, with a reason. Returns the
    reason, or the page to answer with instead."""
    own = author_id == request.user.pk
    if not own:
        _staff(request)
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        # the reason typed beside the button comes along, to be checked when confirmed
        form = None if own else ModerationForm(initial={"reason": request.POST.get("reason", "")})
        return "", render(request, "board/confirm_delete.html", {**what, "form": form})
    if own:
        return "", None
    form = ModerationForm(request.POST)
    if not form.is_valid():
        return "", render(request, "board/confirm_delete.html", {**what, "form": form}, status=400)
    return form.cleaned_data["reason"], None


def _deleted(request, message: str, to: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseClientRedirect(to) if request.htmx else redirect(to)


@login_required
@require_http_methods(["GET", "POST"])
def post_delete(request, pk):
    post = _active_post(pk)
    if post.author_id == request.user.pk and post.comment_count and not request.user.is_staff:
        raise PermissionDenied(gettext("A post with comments cannot be deleted."))
    what = {"post": post, "action": request.path, "back": reverse("board:post", args=[pk])}
    reason, answer = _deletion_reason(request, post.author_id, what)
    if answer:
        return answer
    services.delete_post(user=request.user, post_id=pk, reason=reason)
    return _deleted(request, gettext("The post was deleted."), reverse("board:index"))


def post_detail(request, pk):
    """The post and a page of its comments. A post hidden by moderators is still shown to its
    author and to staff, with a notice (and, for staff, Restore); to others it is not there."""
    data = selectors.post_detail(pk) or selectors.hidden_post(pk, viewer=request.user)
    if data is None:
        raise Http404(gettext("No such post."))
    post = data["post"]
    page = selectors.parse_page(request.GET.get("page"))
    comments = selectors.comment_page(post, page, first=data.get("comments"))
    voted, voted_comments = selectors.votes_of(request.user, post, comments.items)
    return render(
        request,
        "board/post_detail.html",
        {
            "post": post,
            "html": data["html"],
            "hidden": not post.is_active,
            "page": comments,
            "comment_total": comments.total,
            "voted": voted,
            "voted_comments": voted_comments,
            "form": CommentForm(),
            "moderation_form": ModerationForm(),
        },
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def post_vote(request, pk):
    try:
        result = services.vote_post(user=request.user, post_id=pk)
    except Post.DoesNotExist:
        raise Http404(gettext("No such post.")) from None
    if request.htmx:
        return render(
            request,
            "board/post_detail.html#votes",
            {"post": {"pk": pk, "vote_count": result.count}, "voted": result.voted},
        )
    return redirect("board:post", pk=pk)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def comment_create(request, pk):
    _writer(request)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.create_comment(
                user=request.user, post_id=pk, content=form.cleaned_data["content"]
            )
        except Post.DoesNotExist:
            raise Http404(gettext("No such post.")) from None
        except services.RateLimited as error:
            form.add_error(None, str(error))
        else:
            if request.htmx:  # the new comment, and out of band the count and the author's actions
                post = _active_post(pk)
                context = {"post": post, "form": CommentForm(), "new_comment": comment}
                context |= {"comment_total": post.comment_count, "oob": True}
                return render(request, "board/post_detail.html#comment-form-and-new", context)
            return redirect(f"/board/p/{pk}/#comment-{comment.pk}")
    post = _active_post(pk)
    template = "board/post_detail.html#comment-form" if request.htmx else "board/comment_form.html"
    return render(request, template, {"post": post, "form": form}, status=400)


def _active_comment(pk):
    try:
        return Comment.objects.get(pk=pk, is_active=True, post__is_active=True)
    except Comment.DoesNotExist:
        raise Http404(gettext("No such comment.")) from None


@login_required
def comment_edit(request, pk):
    comment = _active_comment(pk)
    _writer(request)
    if comment.author_id != request.user.pk:
        raise PermissionDenied(gettext("Only the author may edit this comment."))
    form = CommentForm(request.POST or None, initial={"content": comment.content})
    if request.method == "POST" and form.is_valid():
        services.edit_comment(
            user=request.user, comment_id=pk, content=form.cleaned_data["content"]
        )
        return redirect("board:post", pk=comment.post_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "board/comment_edit.html",
        {"comment": comment, "form": form, "rows": selectors.comment_history(comment)},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_delete(request, pk):
    comment = _active_comment(pk)
    back = reverse("board:post", args=[comment.post_id])
    what = {"comment": comment, "action": request.path, "back": f"{back}#comment-{pk}"}
    reason, answer = _deletion_reason(request, comment.author_id, what)
    if answer:
        return answer
    services.delete_comment(user=request.user, comment_id=pk, reason=reason)
    return _deleted(request, gettext("The comment was deleted."), back)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def comment_vote(request, pk):
    comment = _active_comment(pk)
    result = services.vote_comment(user=request.user, comment_id=pk)
    if request.htmx:
        return render(
            request,
            "board/post_detail.html#comment-votes",
            {
                "comment": {"pk": pk, "vote_count": result.count},
                "voted_comments": {pk} if result.voted else set(),
            },
        )
    return redirect("board:post", pk=comment.post_id)


def post_history(request, pk):
    post = _active_post(pk)
    return render(
        request, "board/post_history.html", {"post": post, "rows": selectors.post_history(post)}
    )


def post_history_csv(request, pk):
    return _csv_download(selectors.post_history_csv(_active_post(pk)), f"post-{pk}-history.csv")


def comment_history(request, pk):
    comment = _active_comment(pk)
    rows = selectors.comment_history(comment)
    return render(request, "board/comment_history.html", {"comment": comment, "rows": rows})


def comment_history_csv(request, pk):
    csv_text = selectors.comment_history_csv(_active_comment(pk))
    return _csv_download(csv_text, f"comment-{pk}-history.csv")


def _csv_download(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _staff(request):
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Only staff may moderate."))


def _moderate(request, hide_target, redirect_to):
    _staff(request)
    form = ModerationForm(request.POST)
    if not form.is_valid():
        action = request.POST.get("action")
        return render(request, "board/moderate.html", {"form": form, "action": action}, status=400)
    hide_target(form.cleaned_data["reason"], request.POST.get("action") != "restore")
    messages.success(request, gettext("Recorded."))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        redirect_to = back  # the page the button was on: a hidden or restored post, in place
    return redirect(redirect_to)


@login_required
@require_POST
def post_moderate(request, pk):
    post = get_object_or_404(Post, pk=pk)

    def act(reason, hide):
        if post.is_active != hide:
            raise Http404(gettext("Nothing to do."))
        services.moderate_post(moderator=request.user, post_id=pk, hide=hide, reason=reason)

    return _moderate(request, act, "board:moderation_log")


@login_required
@require_POST
def comment_moderate(request, pk):
    comment = get_object_or_404(Comment, pk=pk)

    def act(reason, hide):
        if comment.is_active != hide:
            raise Http404(gettext("Nothing to do."))
        services.moderate_comment(moderator=request.user, comment_id=pk, hide=hide, reason=reason)

    return _moderate(request, act, "board:moderation_log")


@login_required
def moderation_log(request):
    _staff(request)
    actions = ModerationAction.objects.select_related("moderator", "post", "comment__post")
    paginator = Paginator(actions.order_by("-created_at", "-id"), 50)
    number = selectors.parse_page(request.GET.get("page"))
    selectors.check_page(number, paginator.num_pages)
    hidden = Post.objects.filter(is_active=False).exclude(hidden_reason="").order_by("-id")[:50]
    hidden_comments = (
        Comment.objects.filter(is_active=False)
        .exclude(hidden_reason="")
        .select_related("post")
        .order_by("-id")[:50]
    )
    return render(
        request,
        "board/moderation_log.html",
        {
            "page": paginator.page(number),
            "hidden": hidden,
            "hidden_comments": hidden_comments,
            "form": ModerationForm(),
        },
    )
