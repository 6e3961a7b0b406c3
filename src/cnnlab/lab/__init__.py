"""The live lab: a local web page where a person draws a digit or drops a photo and sees their own network's
prediction, feature maps and receptive fields (``cnnlab lab``).

``session`` holds the loaded runs and what they compute for an image, ``app`` the ASGI app (Starlette) and its
JSON API (``docs/lab-api.md``), ``static`` the page (plain HTML, CSS and JavaScript, served by the app itself).
"""
