"""The file types each view writes, named once (light: no matplotlib), for the views and for
the checks ``runs.Outputs`` makes before a run starts."""

ANIMATION_SUFFIXES = (".gif", ".mp4")
PICTURE_SUFFIXES = (".png", ".svg", ".pdf")
