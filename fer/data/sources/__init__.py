"""One reader per on-disk format; each yields FaceSets in our canonical form (see fer.data.faceset)."""
