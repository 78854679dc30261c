"""The payment providers, behind one interface (``base.Provider``)."""
