"""Tables of the investments."""
