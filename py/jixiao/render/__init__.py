"""HTML and Markdown made from the model: the 填报 form and the site's generated pages (form.py),
and the printed or exported views of a unit's submission. Templates are package data."""
