"""District-month revisions and their approval by the district HMIS nodal officer.

- :mod:`hmis.approval.revisions`: open pending revisions from the current marts (their figures
  frozen), record the officer's response, what changed since the last approved revision.
- :mod:`hmis.approval.messages`: the approval request, the state's what-changed note and the
  returned-with-comment note (e-mail and the Airflow approval form's text).
- :mod:`hmis.approval.publish`: the state's approved export and the debts it settles.
"""
