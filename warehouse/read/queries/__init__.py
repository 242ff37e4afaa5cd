"""The analyst API's questions, one module per subject; ``warehouse`` hands them on."""
