"""Demo board: two boards with sub-categories, posts with edits, comments and votes. Idempotent."""

from . import services
from .models import Category, Post

TREE = {
    ("Q&A", "qna"): [("Career", "qna-career"), ("Tech", "qna-tech")],
    ("Community", "community"): [("Life", "community-life"), ("News", "community-news")],
}

POSTS = [
    ("alice", "qna-tech", "How do keyset lists work?", "Seek by **id** instead of OFFSET."),
    ("bob", "qna-career", "First job in music rights", "Any advice on *royalty* analysis?"),
    ("김철수", "community-life", "안녕하세요", "처음 왔습니다. 잘 부탁드립니다!"),
    ("alice", "community-news", "MCPI hit a new high", "The index rose 3% this week."),
]


def load(stdout, people) -> None:
    categories = {}
    for position, ((name, slug), children) in enumerate(TREE.items()):
        board, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
        for child_position, (child_name, child_slug) in enumerate(children):
            categories[child_slug], _ = Category.objects.get_or_create(
                slug=child_slug,
                defaults={"name": child_name, "parent": board, "position": child_position},
            )
    created = 0
    for username, slug, title, content in POSTS:
        author = people[username]
        if Post.objects.filter(author=author, title=title).exists():
            continue
        services.POST_LIMIT.reset(str(author.pk))
        post = services.create_post(
            user=author, category=categories[slug], title=title, content=content
        )
        services.edit_post(
            user=author,
            post_id=post.pk,
            title=title,
            content=content + "\n\n(edited)",
            category=categories[slug],
        )
        for name, person in people.items():
            if name != username and person.can_write:
                services.COMMENT_LIMIT.reset(str(person.pk))
                services.create_comment(user=person, post_id=post.pk, content=f"Nice, {username}!")
                services.vote_post(user=person, post_id=post.pk)
        created += 1
    stdout.write(f"Demo board ready: {created} new post(s).")
