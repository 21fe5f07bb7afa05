"""Pure analysis maths: inequality indices, life tables, health economics and uncertainty intervals."""
