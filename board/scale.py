from config.scale import Sizes


def seed(sizes: Sizes, users: list[int]) -> None:
    """Placeholder: filled in by the board seeding work."""
