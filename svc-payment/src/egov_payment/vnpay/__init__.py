"""The VNPay payment gateway protocol, version 2.1.0, and a simulator that speaks it.

- ``protocol``: the query-string signature (sorted ``key=quote_plus(value)`` pairs, HMAC-SHA512), the payment
  URL, parsing and verifying the return URL and the IPN (server-to-server notification), the IPN reply, the
  response codes and transaction statuses.
- ``api``: the JSON merchant API ``/merchant_webapi/api/transaction`` (``querydr`` and ``refund``), whose
  signature is HMAC-SHA512 over values joined with ``|`` in a fixed order.
- ``simulator``: an ASGI app standing in for ``sandbox.vnpayment.vn`` in tests and the embedded mode.

Pure functions only in ``protocol`` and ``api``: no I/O, no clock, no database; the service decides.
"""
