"""What the viewer shows, held without Qt or VTK: the reading state (scan, crosshair, window,
tool), the layout, the heat strips' scores and the chat. Widgets observe these models through
their :class:`~viewer.models.events.Event` attributes and render; the window and the chat's
worker change them."""
