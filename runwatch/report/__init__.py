"""`runwatch report` and `runwatch compare`: a finished run read in the order the course notes teach.

The numbers are computed in pure code (`numbers`, `verdict`) from the run state
`runwatch check` builds (one reader for every command); the document is a list
of blocks (`document`) written as Markdown or one HTML file; only `plots`
imports matplotlib, and only these commands import `plots`.
"""
