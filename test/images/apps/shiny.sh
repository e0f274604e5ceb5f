#!/bin/sh
# The Shiny app in /srv/shiny on port 8888. Shiny writes relative URLs, so it works with the
# prefix stripped (the default).
exec Rscript -e "shiny::runApp('/srv/shiny', host = '0.0.0.0', port = 8888, launch.browser = FALSE)"
