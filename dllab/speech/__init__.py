"""Text to speech for the voice chatbot: a question voice and an answer voice, through espeak-ng
(offline default) or Bark (when its weights are in the local caches), cached as WAV files."""
from dllab.speech.tts import AudioClip, Speaker

__all__ = ["AudioClip", "Speaker"]
