"""A one-page channel report for a period (issue 20 §9): the headline figures, the activity
and viewer curves, top chatters, top emotes, donors and the best moments, as a
self-contained HTML file and a PDF, in Korean or English.

Cut by meaning: ``figures`` gathers the numbers from the analyst API (a Report: values
only), ``page`` renders them as HTML (a pure function of the Report and a language; every
text from the data escaped, charts as inline SVG from ``charts``), ``pdf`` prints that HTML
with the system's Chromium, and ``cli`` is `chzzk-warehouse report`."""
