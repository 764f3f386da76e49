"""What draws the scan: the slice views with their camera, overlays, corner text, scale bar and
measurements; the 3D volume view; the VTK canvas and data; the TG-IS heat strips; screenshots."""
