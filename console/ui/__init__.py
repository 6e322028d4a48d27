"""NiceGUI panels of the console. They read the session model; they never parse wire frames."""
