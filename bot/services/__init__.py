"""The service layer: one module per flow. A service takes the unit of work (or the session
factory, when the flow needs several short transactions around a provider call), the clock
and the ports; it calls pure handlers and storage repositories, and never renders a page."""
