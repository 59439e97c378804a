"""A window manager's two moves, for the desktop test under Xvfb (python-xlib).

    x11_window.py find TITLE     prints the id of a top-level window named TITLE (exit 1 if none)
    x11_window.py close ID       asks window ID to close (WM_DELETE_WINDOW), as a title bar's X does
"""
import sys

from Xlib import X, display, protocol


def windows(d):
    stack = [d.screen().root]
    while stack:
        w = stack.pop()
        yield w
        try:
            stack.extend(w.query_tree().children)
        except Exception:
            pass


def find(title):
    d = display.Display()
    for w in windows(d):
        try:
            name = w.get_wm_name()
        except Exception:
            continue
        if name == title:
            attrs = w.get_attributes()
            if attrs.map_state == X.IsViewable:
                print(w.id)
                return 0
    return 1


def close(window_id):
    d = display.Display()
    w = d.create_resource_object("window", window_id)
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    event = protocol.event.ClientMessage(
        window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
    )
    w.send_event(event, event_mask=X.NoEventMask)
    d.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "find":
        sys.exit(find(sys.argv[2]))
    sys.exit(close(int(sys.argv[2])))
