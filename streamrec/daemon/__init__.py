"""The daemon (``streamrec run``): watch, load, plan, carry out, log; recover; stop cleanly."""
