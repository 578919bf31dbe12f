/**
 * Whether the library can take images. The vision encoder is not built yet: a chat request with an image
 * part is answered with a 400 carrying the library's typed error. When vision lands, set this to true: the
 * model card's image examples and the image tests then expect answers.
 */
export const VISION_AVAILABLE = false;
