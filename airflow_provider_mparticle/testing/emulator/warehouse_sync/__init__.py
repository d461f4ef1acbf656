"""The emulated Warehouse Sync API v2: state and rules (:mod:`.backend`), HTTP routes (:mod:`.routes`)."""
