"""Business counters for Prometheus."""

from prometheus_client import Counter

POSTS = Counter("okcow_board_posts_total", "Posts created")
COMMENTS = Counter("okcow_board_comments_total", "Comments created")
VOTES = Counter("okcow_board_votes_total", "Votes cast or taken back", ["target", "direction"])
