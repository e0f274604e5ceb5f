library(shiny)

ui <- fluidPage(
  titlePanel("hde shiny"),
  numericInput("n", "Number", value = 1),
  textOutput("twice")
)

server <- function(input, output) {
  output$twice <- renderText(paste("twice:", input$n * 2))
}

shinyApp(ui, server)
