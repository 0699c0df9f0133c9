"""Tables of the board."""
