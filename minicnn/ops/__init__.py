"""Every differentiable op of minicnn, one ``Function`` each, grouped by kind."""
