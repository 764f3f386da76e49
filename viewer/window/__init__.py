"""The main window and what it composes: menus and their actions (tools, presets, layouts,
cine), the view layouts, dialogs, the message bar, the theme, and loading a scan off the UI
thread."""
