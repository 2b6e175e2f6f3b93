"""The Gradio layer of the chat app (app.py): chat messages and notices (messages.py), the event
handlers over model/service.py's ChatService (handlers.py), documents and conversation files
(files.py), and the page layout with its event wiring (layout.py). No model code and no serving
rules live here: those are model/service.py's.
"""
