"""Albums: an owner's ordered sets of images, each with a share link `/a/<share id>`."""
