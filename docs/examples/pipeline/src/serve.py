"""Serve the model in --model on --port, answering /health. (The quickstart has a complete one.)"""
