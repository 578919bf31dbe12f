/**
 * Whether the library can take images: true since the vision encoder landed (the built-in tiny model has a vision
 * tower), so the model card's image examples and the image tests expect answers. False would make them expect the
 * 400 a text-only build answered with.
 */
export const VISION_AVAILABLE = true;
