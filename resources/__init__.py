"""The app's data files (presets, prompts, the demo CT, the default bundle), installed as the
package ``ctchat_resources`` so they travel with a wheel; ``inference.resources`` finds them."""
