"""Running each model's trunk (the layers up to its CAM layer) outside torch where that is faster."""
