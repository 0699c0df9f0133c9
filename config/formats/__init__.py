"""The site's own date formats where Django's read less naturally (``FORMAT_MODULE_PATH``)."""
