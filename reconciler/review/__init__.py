"""`reconciler access-review`: who has access to what, since when, granted by which change.

history (one `git log` pass: since when each grant exists in Git, by which commit) ->
build (the review's rows from the desired state, the history, the apply records and, when
read, Google) -> render (html, markdown, csv, json)."""
